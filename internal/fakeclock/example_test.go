package fakeclock_test

import (
	"context"
	"fmt"
	"time"

	"github.com/lifecyclesim/lifecycle/internal/fakeclock"
)

// Timers fire in (deadline, creation) order, each seeing its own deadline.
func ExampleClock_AdvanceTo() {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	c := fakeclock.New(nil, start)
	slow := c.After(3 * time.Second)
	fast := c.After(time.Second)
	ctx, cancel := c.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	c.AdvanceTo(start.Add(10 * time.Second))

	fmt.Println("fast:", (<-fast).Sub(start))
	fmt.Println("ctx: ", ctx.Err())
	fmt.Println("slow:", (<-slow).Sub(start))
	fmt.Println("now: ", c.Since(start))
	// Output:
	// fast: 1s
	// ctx:  context deadline exceeded
	// slow: 3s
	// now:  10s
}

// Step fires one timer at a time; equal deadlines fire in creation order.
func ExampleClock_Step() {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	c := fakeclock.New(nil, start)
	a := c.After(time.Minute)
	b := c.After(time.Minute)

	for c.Step() {
		select {
		case <-a:
			fmt.Println("a at", c.Since(start))
		case <-b:
			fmt.Println("b at", c.Since(start))
		}
	}
	fmt.Println("pending:", c.Pending())
	// Output:
	// a at 1m0s
	// b at 1m0s
	// pending: 0
}
