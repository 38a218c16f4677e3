package transfer

// put records e for the file of l staged as rel, as hashing it would.
func (l *Local) put(rel string, e localEntry) {
	i := l.index(rel, -1)
	if i < 0 {
		panic("put: " + rel + " is not among the files")
	}
	l.recs[i] = e
}
