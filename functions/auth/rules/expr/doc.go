// Package expr is the expression language of herald's channel rules: the
// part of CEL (https://cel.dev) that conditions over a token's claims
// need, with CEL's syntax and semantics, evaluated by a small tree walker
// instead of cel-go, so the auth function stays small and starts fast.
//
// Supported: int, uint, double, string (quoted, triple-quoted, raw), bool
// and null literals; lists; maps with string keys; variables, field
// selection, indexing and has(); ! and unary -; * / % + -; comparisons
// (numbers compare across int, uint and double); in; && and || (an error
// on one side is absorbed when the other side decides); ?:; size,
// startsWith, endsWith, contains, matches (RE2), int, uint, double,
// string, bool, dyn; from CEL's strings extension charAt, indexOf,
// lastIndexOf, join, lowerAscii, upperAscii, replace, reverse, split,
// substring and trim; the macros all, exists, exists_one, map and filter.
// Integer overflow and division by zero are errors.
//
// Everything else CEL has (bytes, timestamps and durations, type(),
// protocol buffer messages, optional syntax, format and quote) is a
// compile error saying it is not supported. One difference remains by
// design: a loop over a map visits its keys in sorted order, where cel-go
// follows Go's map order. Compile also
// refuses what CEL's type checker refuses for these constructs: unknown
// names, wrong argument counts, operands that can never fit.
//
// A compiled Program is evaluated many times over plain Go values, with a
// budget of steps (CostLimit) and of memory (MemoryLimit, 1 MiB) so that
// no expression can make a request run away: every builtin charges for the
// string, list, map or compiled pattern it is about to build before
// building it. The package knows nothing of channels or tokens; package rules
// gives it those.
package expr
