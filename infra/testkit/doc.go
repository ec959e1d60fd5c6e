// Package testkit is what herald's tests share to run real outside
// components: Node.js with the npm packages of infra/node (pusher-js, the
// pusher server SDK, playwright-core, dynalite), free loopback ports, and
// processes that stop when the test ends.
//
// It is test support only; no Lambda binary imports it.
package testkit
