package simulator

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wolkvox-connect/wolkvox-connect/schemas/catalog"
)

// Word lists give values the look of a real operation. They are data, not behaviour:
// any value of the right format would do for the connector.
var (
	firstNames   = []string{"Ana", "Luis", "Camila", "Andrés", "Valentina", "Jorge", "Daniela", "Carlos", "María José", "Santiago", "Laura", "Felipe", "Paula", "Juan David", "Sofía", "Mateo"}
	lastNames    = []string{"Gómez", "Rodríguez", "Martínez", "López", "García", "Hernández", "Ramírez", "Torres", "Díaz", "Moreno", "Muñoz", "Rojas"}
	skillNames   = []string{"SERVICIO CLIENTE", "VENTAS", "SOPORTE TECNICO", "COBRANZA", "RETENCION", "BACKOFFICE"}
	rpNames      = []string{"RP_PRINCIPAL", "RP_ENCUESTA", "RP_WHATSAPP", "RP_CALLBACK"}
	typNames     = []string{"VENTA EXITOSA", "NO INTERESADO", "VOLVER A LLAMAR", "INFORMACION GENERAL", "RECLAMO", "NUMERO EQUIVOCADO", "PROMESA DE PAGO", "ESCALADO"}
	channels     = []string{"voice", "chat-web", "chat-whatsapp", "chat-facebook", "chat-telegram"}
	interactions = []string{"inbound", "outbound", "internal"}
	results      = []string{"ANSWER", "ABANDON", "NO ANSWER", "BUSY", "TRANSFER", "HANGUP"}
	sides        = []string{"agent", "customer"}
	feelings     = []string{"positive", "neutral", "negative"}
	words        = []string{"cliente", "solicita", "información", "sobre", "factura", "pago", "pendiente", "gracias", "por favor", "plan", "servicio", "activación", "cuenta", "saldo", "envío", "confirmar"}
	generics     = []string{"ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA", "JULIETT", "KILO", "LIMA"}
)

func pick(list []string, h uint64) string { return list[h%uint64(len(list))] }

func sentence(h uint64) string {
	n := 3 + int(h%6)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = pick(words, hash(h, uint64(i)))
	}
	return strings.Join(parts, " ")
}

func phone(h uint64) string { return fmt.Sprintf("573%09d", h%1_000_000_000) }

// entityValue renders attribute attr of entity idx of a kind.
func entityValue(kind, family, attr string, idx int, seed uint64) string {
	eh := hash(seed, strHash(kind), uint64(idx))
	switch kind {
	case "agent":
		switch attr {
		case "id":
			return strconv.Itoa(1001 + idx)
		case "dni":
			return strconv.FormatUint(10_000_000+eh%90_000_000, 10)
		default:
			return pick(firstNames, eh) + " " + pick(lastNames, eh>>20)
		}
	case "skill":
		if attr == "id" {
			return strconv.Itoa(10 + idx)
		}
		return skillNames[idx%len(skillNames)]
	case "campaign":
		return strconv.Itoa(500 + idx)
	case "customer":
		switch attr {
		case "id":
			return strconv.FormatUint(1_000_000_000+eh%9_000_000_000, 10)
		case "last_name":
			return pick(lastNames, eh>>7)
		case "email":
			return fmt.Sprintf("cliente%d@correo.com", idx)
		case "phone":
			return phone(eh)
		default:
			return pick(firstNames, eh)
		}
	case "rp":
		if attr == "id" {
			return strconv.Itoa(7000 + idx)
		}
		return rpNames[idx%len(rpNames)]
	case "typ":
		if attr == "desc" {
			return typNames[idx%len(typNames)]
		}
		return strconv.Itoa(100 + idx)
	case "bucket":
		return cdr4Buckets[idx%len(cdr4Buckets)]
	default: // generic partition, e.g. chat_3's channel
		return genericText(family, hash(seed, strHash(family), uint64(idx)), idx)
	}
}

// genericText renders a text column that is none of the entities, by what its name says.
// idx ≥ 0 forces the idx-th value of the column's list (distinct values for distinct idx).
func genericText(name string, h uint64, idx int) string {
	n := strings.ToLower(strings.TrimSpace(name))
	choose := func(list []string) string {
		if idx >= 0 {
			return list[idx%len(list)]
		}
		return pick(list, h)
	}
	switch {
	case strings.Contains(n, "channel") || n == "chanel":
		return choose(channels)
	case strings.HasPrefix(n, "type_interaction"):
		return choose(interactions)
	case strings.Contains(n, "result") || n == "status" || n == "machinecode":
		return choose(results)
	case n == "hang_up" || n == "hung_up" || strings.Contains(n, "last_participant") || n == "last_sender":
		return choose(sides)
	case n == "feeling":
		return choose(feelings)
	case n == "telephone" || n == "ani" || n == "dnis" || n == "destiny" || n == "destinity" || n == "dial_phone" || n == "protected_nit":
		if idx >= 0 {
			return phone(uint64(idx) * 7919)
		}
		return phone(h)
	case n == "from" || n == "to" || strings.Contains(n, "email"):
		return fmt.Sprintf("user%d@correo.com", h%500)
	case strings.Contains(n, "url") || n == "file_name":
		return fmt.Sprintf("https://files.wolkvox.example/%x", h%0xffffff)
	case strings.Contains(n, "message") || strings.Contains(n, "comment") || strings.Contains(n, "text") ||
		n == "body" || n == "subject" || n == "question" || n == "answer" || n == "summary" ||
		strings.Contains(n, "query") || strings.Contains(n, "answer") || n == "explation" || n == "feedback":
		return sentence(h)
	}
	if idx >= 0 {
		return generics[idx%len(generics)]
	}
	return pick(generics, h)
}

// durationText formats seconds as H:MM:SS; hours are zero-padded or not depending on h,
// as the API does both.
func durationText(sec int64, h uint64) string {
	if h%2 == 0 {
		return fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
}

// centsText formats hundredths with two decimals and thousands separators ("9,336.00").
func centsText(cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	whole := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	fmt.Fprintf(&b, ".%02d", cents%100)
	return b.String()
}

// percentText formats a percentage in hundredths: "34.64 %".
func percentText(cents int64) string { return centsText(cents) + " %" }

// scalarText renders a value of column type t for a detail row from hash h.
func scalarText(c *column, h uint64, t time.Time, loc *time.Location) string {
	switch c.typ {
	case catalog.Count:
		return strconv.FormatInt(between(h, 0, 12), 10)
	case catalog.Number:
		return centsText(between(h, 0, 250_000))
	case catalog.Percent:
		if h%37 == 0 {
			return percentText(between(h>>8, 100_000, 1_500_000)) // the odd "9,336.00 %"
		}
		return percentText(between(h>>8, 0, 10_000))
	case catalog.Duration:
		return durationText(between(h, 0, 2*3600), h>>32)
	case catalog.Seconds:
		return strconv.FormatInt(between(h, 0, 3600), 10)
	case catalog.Millis:
		return strconv.FormatInt(between(h, 50, 60_000), 10)
	case catalog.Timestamp, catalog.Date:
		// A second timestamp of the interaction: its end lies after the row's time, its
		// start before it.
		d := time.Duration(between(h, 5, 1800)) * time.Second
		n := strings.ToLower(c.name)
		if strings.Contains(n, "ini") || strings.Contains(n, "start") || strings.Contains(n, "creation") || strings.Contains(n, "inbound") {
			d = -d
		}
		return t.Add(d).In(loc).Format(c.layout)
	}
	return genericText(c.name, h, -1)
}

// placeholder returns "-" or "--" for h, the API's "not applicable".
func placeholder(h uint64) string {
	if h%3 == 0 {
		return "--"
	}
	return "-"
}
