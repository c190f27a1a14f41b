package demo

import "testing"

// BenchmarkDecodeQuery measures orders-db's request decoding, run once per query.
func BenchmarkDecodeQuery(b *testing.B) {
	body := []byte(`{"statement":"INSERT INTO orders (id, sku, qty, amount_cents) VALUES ($1, $2, $3, $4)","args":["0b5f7c1e-6a47-4d7e-9a43-6d1f0e3b1c2a","sku-17","2","1298"]}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := decodeQuery(body); err != nil {
			b.Fatal(err)
		}
	}
}
