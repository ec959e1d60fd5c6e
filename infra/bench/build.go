package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// repoRoot finds the herald module's root from the working directory
// upwards, so the benchmark runs from the root (make bench) and from its
// own directory (go test).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/heraldrt/herald\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the herald module (no go.mod naming github.com/heraldrt/herald above the working directory)")
		}
		dir = parent
	}
}

// buildLambda builds pkg (relative to root, "./functions/queue/bootstrap")
// as a Lambda bootstrap for linux/goarch with the release flags the
// Makefile uses, into out.
func buildLambda(ctx context.Context, root, pkg, goarch, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath",
		"-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (%s): %v\n%s", pkg, goarch, err, b)
	}
	return nil
}

// fileSize is the size of path in bytes.
func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
