//go:build race

package dataset

// allocFactor widens allocation bounds under the race detector, which
// makes the same code allocate more (about 1.5× here). The bounds stay
// well below what the unbounded code allocated (3× to 5× of them).
const allocFactor = 2

// heapPercent widens heap bounds under the race detector, whose
// instrumentation keeps more on the heap.
const heapPercent = 130
