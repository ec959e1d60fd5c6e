package main

import (
	"log/slog"
	"testing"
)

// testLogger shows warnings and errors of the stack in the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
