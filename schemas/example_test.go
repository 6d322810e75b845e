package schemas_test

import (
	"fmt"

	"github.com/wolkvox-connect/wolkvox-connect/schemas"
)

func ExampleAvroName() {
	for _, raw := range []string{"agent_anwers ", "ASA", "yes/no", "0_5_seg"} {
		fmt.Printf("%q → %s\n", raw, schemas.AvroName(raw))
	}
	// Output:
	// "agent_anwers " → agent_anwers
	// "ASA" → asa
	// "yes/no" → yes_no
	// "0_5_seg" → f_0_5_seg
}
