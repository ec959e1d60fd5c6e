// Package metrics records what one invocation did and writes it as one
// CloudWatch Embedded Metric Format (EMF) document on stdout: CloudWatch
// Logs extracts the metrics from the log line, so recording costs no API
// call and no wait.
//
// A Recorder travels in the invocation's context (NewContext, From); code
// anywhere below the handler adds to it with one call, and a nil Recorder
// (no invocation around, as in unit tests) records nothing. An Emitter
// writes the Recorder's document when the invocation ends: the namespace
// is HERALD_METRICS_NAMESPACE (default herald), the dimensions the
// function and the driver.
//
// Transport is the http.RoundTripper the drivers' HTTP clients send
// through: it counts provider requests, their latency and their errors by
// class.
//
// It is not a metrics library: no aggregation across invocations (CloudWatch
// does that), no other backend.
package metrics
