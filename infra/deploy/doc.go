// Package deploy holds the checks of herald's deployment description:
// template.yaml (AWS SAM), samconfig.toml and the Makefile targets SAM's
// makefile build method calls. It has no code of its own; its tests parse
// the template with goformation (a test-only dependency that must never
// reach a Lambda binary) and with yaml.v3 for what goformation does not
// model.
package deploy
