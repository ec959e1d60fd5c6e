package stack

import (
	"testing"

	"github.com/heraldrt/herald/infra/testkit"
)

// The tests share testkit's moto: the pollers' parts on resources of
// their own, the stacks one after the other, each resetting it.
func TestMain(m *testing.M) { testkit.Main(m) }
