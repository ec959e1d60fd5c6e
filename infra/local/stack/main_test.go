package stack

import (
	"testing"

	"github.com/heraldrt/herald/infra/testkit"
)

// Each Stack starts a moto of its own (its resource names are fixed); the
// tests of the pollers' parts share testkit's.
func TestMain(m *testing.M) { testkit.Main(m) }
