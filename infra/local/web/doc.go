// Package web holds the local demo page: plain HTML, CSS and JavaScript,
// embedded into the local stack's binary so `make dev` serves it without a
// build step. pusher-js itself is not embedded; the stack serves it from the
// locked npm package under infra/node, so the page runs the very client
// version the tests use, offline.
package web
