// Package queue is the agent's durable, bounded, at-least-once disk queue,
// the core of "never lose a span when the backend is down".
//
// Put appends an item to a segment file and returns only after the item is
// fsynced; concurrent Puts share one fsync (group commit). Get hands items
// out in order and blocks until one is available; an item leaves the queue
// only when it is acked, and every item not acked before a crash or restart
// is delivered again. Records carry a CRC, so a torn tail left by a crash is
// detected and cut off on Open. The ack position is kept in a small file
// replaced atomically, and fully acked segments are deleted. The queue holds
// at most a configured number of bytes: when full it drops the oldest items
// or refuses new ones with *model.OverloadedError. The on-disk format is
// described in docs/design/queue.md.
package queue
