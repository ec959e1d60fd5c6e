// Package testkit is what herald's tests share to run real outside
// components: one moto (the AWS emulator) per test package, Node.js with the
// npm packages of infra/node (pusher-js, the pusher server SDK,
// playwright-core), the Lambda runtime emulator, free loopback ports, and
// processes that stop when the test ends.
//
// It is test support only; no Lambda binary imports it.
package testkit
