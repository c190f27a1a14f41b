// Package apitest holds what the query API packages' tests share: a
// fixture of two traces (a frontend → cart → mysql call chain with a
// shared client/server span, an error and events, and a 64-bit trace);
// MemQuerier, an in-memory querier with the store's search semantics; and
// FixtureStore, a real store holding the fixture. It is imported by tests
// only.
package apitest
