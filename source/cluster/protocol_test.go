package cluster

import (
	"reflect"
	"testing"
)

// FuzzDecodeGroupMessages: what other members put in the group (join metadata, the
// leader's assignments) is outside input. Whatever the bytes, decoding never panics, and
// what decodes encodes back to the same message; a plan made from any decodable
// metadata gives every member an assignment it can decode.
func FuzzDecodeGroupMessages(f *testing.F) {
	f.Add(encodeMeta(memberMeta{WorkerID: "w1", URL: "http://w1:8083", Config: "abc", Sections: map[string]string{"topics": "x"}, Owned: []string{"token 1"}}))
	f.Add(encodeAssignment(assignment{Version: wireVersion, Units: []string{"token 1"}, Members: []MemberView{{MemberID: "m", WorkerID: "w1", Connectors: []string{"a"}}}}))
	f.Add([]byte(`{"v":1,"owned":null,"sections":null}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := decodeMeta(b); err == nil {
			again, err := decodeMeta(encodeMeta(m))
			if err != nil || !reflect.DeepEqual(again, m) {
				t.Fatalf("metadata %+v does not round-trip: %+v, %v", m, again, err)
			}
			us := []Unit{{ID: "token 1", Connectors: []string{"a", "b"}}, {ID: "token 2", Connectors: []string{"c"}}}
			for id, a := range leaderPlan(us, "m1", map[string]memberMeta{"m1": m, "m2": {Version: wireVersion, Config: "other"}}) {
				if _, err := decodeAssignment(encodeAssignment(a)); err != nil {
					t.Fatalf("the plan's assignment for %s does not decode: %v", id, err)
				}
			}
		}
		if a, err := decodeAssignment(b); err == nil {
			again, err := decodeAssignment(encodeAssignment(a))
			if err != nil || !reflect.DeepEqual(again, a) {
				t.Fatalf("assignment %+v does not round-trip: %+v, %v", a, again, err)
			}
		}
	})
}
