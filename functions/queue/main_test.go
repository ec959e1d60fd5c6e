package queue_test

import (
	"testing"

	"github.com/heraldrt/herald/infra/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }
