package events

import (
	"reflect"
	"testing"
)

// The one-pass scanner takes the forms queued messages have, and leaves
// everything else to the general path. Whatever it takes, it must decode
// exactly as the general path does.
func TestScanEnvelope(t *testing.T) {
	tests := []struct {
		body string
		fast bool
	}{
		{`{"name":"E","channel":"private-a","data":{"x":1}}`, true},
		{` { "name" : "E" , "channels" : [ "a" , "b" ] , "data" : [1, -2.5e3, true, null, "s\"q"] , "socket_id":"1.2", "id":"k" } `, true},
		{`{"name":"É","channel":"a","data":"{\"x\":1}"}`, true},
		{`{"name":"E","channel":"a","data":0}`, true},
		{`{"name":"E\u0041","channel":"a","data":1}`, false},      // escape in a kept string
		{`{"Name":"E","channel":"a","data":1}`, false},            // encoding/json matches keys case-insensitively
		{`{"name":"E","channel":"a","data":1,"name":"F"}`, false}, // repeated field
		{`{"name":"E","channel":"a","data":null}`, false},
		{`{"batch":[{"name":"E","channel":"a","data":1}]}`, false},
		{`{"name":"E","channel":"a","data":01}`, false},
		{`{"name":"E","channel":"a","data":1} {}`, false},
		{`{}`, false},
		{"{\"name\":\"\xff\",\"channel\":\"a\",\"data\":1}", false},
	}
	for _, tt := range tests {
		got, ok := scanEnvelope([]byte(tt.body))
		if ok != tt.fast {
			t.Errorf("%s: scanned = %v, want %v", tt.body, ok, tt.fast)
			continue
		}
		if !ok {
			continue
		}
		want, err := decodeGeneral([]byte(tt.body))
		if err != nil || len(want) != 1 || !reflect.DeepEqual(got, want[0]) {
			t.Errorf("%s: scanned %+v; general path %+v, %v", tt.body, got, want, err)
		}
	}
}
