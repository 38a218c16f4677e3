//go:build !unix

package lock

// machineID is empty: this system does not tell, so no holder is judged
// from here and its Lease expires as any other.
func machineID() string { return "" }

func processStart(int) (string, bool) { return "", true }
