// Package jsonenc appends JSON scalars to byte slices without reflection or
// allocation, for the query APIs' hand-written response encoders. Every
// function produces valid JSON for any input: invalid UTF-8 becomes U+FFFD,
// control characters are escaped, and numbers JSON cannot carry (NaN, ±Inf)
// become strings.
package jsonenc
