//go:build !race

package lifecycle_test

// raceEnabled is set when the tests run with -race.
const raceEnabled = false
