//go:build race

package transfer

// heapPercent widens heap bounds under the race detector, whose
// instrumentation keeps more on the heap (the inventory's peak: 266 bytes a
// file against 177). Maps of strings still take more (378 without it).
const heapPercent = 130
