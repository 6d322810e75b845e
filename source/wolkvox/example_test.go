package wolkvox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/source/wolkvox"
)

// printer is a Handler that prints each row.
type printer struct{}

func (printer) Row(r wolkvox.Row) error {
	conn, _ := r.Get("conn_id")
	menu, _ := r.Get("cod_opc_menu")
	fmt.Println(conn, menu)
	return nil
}

func (printer) Reset() error { fmt.Println("-- discard the rows above --"); return nil }

func ExampleClient_Read() {
	// A stand-in for https://wv0040.wolkvox.com.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"code":"200","error":null,"msg":"2 records were found","data":[
			{"rp_id":"12462","conn_id":"12462.0277.1782402643.44005","cod_opc_menu":"SALDO"},
			{"rp_id":"12462","conn_id":"12462.0277.1782402643.44005","cod_opc_menu":"ASESOR"}]}`)
	}))
	defer srv.Close()

	c, err := wolkvox.NewClient(wolkvox.Server("0040"), wolkvox.Token("my-token"), wolkvox.BaseURL(srv.URL))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseIdleConnections()
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, c.Location())
	res, err := c.Read(context.Background(), wolkvox.Request{Report: "diagram_13", Start: start, End: start.Add(5 * time.Minute)}, printer{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d rows in %d call(s), truncated: %v\n", res.Rows, res.Calls, res.Rows >= wolkvox.MaxRows)
	// Output:
	// 12462.0277.1782402643.44005 SALDO
	// 12462.0277.1782402643.44005 ASESOR
	// 2 rows in 1 call(s), truncated: false
}
