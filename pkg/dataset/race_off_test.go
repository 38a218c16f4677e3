//go:build !race

package dataset

// allocFactor widens allocation bounds under the race detector; see
// race_on_test.go.
const allocFactor = 1

// heapPercent widens heap bounds under the race detector; see
// race_on_test.go.
const heapPercent = 100
