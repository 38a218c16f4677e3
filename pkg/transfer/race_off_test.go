//go:build !race

package transfer

// heapPercent widens heap bounds under the race detector only.
const heapPercent = 100
