package schemas

import "encoding/json"

// Cell is one key and value of a row, exactly as the API sent them.
type Cell struct {
	Key string
	// Value is the text of a JSON string, or the literal text of a JSON number or
	// boolean; it is empty when Null is set.
	Value string
	Null  bool
}

// Row is one record of a report, its cells in the order the API sent them. Keys are
// kept byte for byte, trailing spaces and typos included. For nested reports a row holds
// its parent's cells followed by the nested element's.
type Row []Cell

// Get returns the value stored under key and whether the key is present and not null.
func (r Row) Get(key string) (string, bool) {
	for _, c := range r {
		if c.Key == key {
			return c.Value, !c.Null
		}
	}
	return "", false
}

// MarshalJSON writes the row as one JSON object, keys in their original order, null
// cells as null: the form dead-letter records carry.
func (r Row) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, c := range r {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(c.Key)
		if err != nil {
			return nil, err
		}
		b = append(b, k...)
		b = append(b, ':')
		if c.Null {
			b = append(b, "null"...)
			continue
		}
		v, err := json.Marshal(c.Value)
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}
