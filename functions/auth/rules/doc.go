// Package rules decides who may join which channel: Laravel's
// routes/channels.php written as data. A rules file lists channel patterns
// with a condition each, and, for presence channels, expressions for the
// member's id and info, all in the CEL subset of package expr:
//
//	channels:
//	  - pattern: "App.Models.User.{id}"
//	    allow: "user.sub == id"
//	  - pattern: "chat.{room}"
//	    kinds: [presence]
//	    allow: "room in user.rooms"
//	    member: {id: "user.sub", info: "{'name': user.name}"}
//	user:
//	  id: "user.sub"
//
// Patterns are written without the private-, presence- or private-encrypted-
// prefix; {name} matches one non-empty segment without dots, and the whole
// name must match. The first rule whose pattern and kinds match decides; no
// match means no. Expressions see user (the verified token claims), channel
// (the full channel name), kind ("private", "presence", "private-encrypted")
// and each pattern parameter as a string variable.
//
// Everything is compiled once by Parse; a rule that does not compile is an
// error naming the rule. Evaluation is bounded in steps and in memory
// (MaxBytes), so a rule cannot make a request run away or exhaust the
// function's memory. The package does not verify tokens and does not sign:
// it only answers yes or no and says who a member is.
package rules
