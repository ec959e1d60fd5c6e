// Package testkit is what herald's tests share to run real outside
// components: one moto (the AWS emulator) per test package and queues in it
// (created, read back, failed entry by entry), Node.js with the npm packages
// of infra/node (pusher-js, the pusher server SDK, playwright-core), the
// Lambda runtime emulator, free loopback ports, and processes that stop when
// the test ends; and template.yaml as YAML nodes, for the tests that hold the
// code to it.
//
// It is test support only; no Lambda binary imports it.
package testkit
