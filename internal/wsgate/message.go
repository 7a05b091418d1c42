package wsgate

import (
	"time"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/pipeline"
	"github.com/rpcgate/rpcgate/internal/relay"
)

// handle serves one client message. Subscriptions are answered here, in
// order, so a subscription's id always reaches the client before its
// first notification; every other call goes to the pipeline, several at
// a time.
func (c *conn) handle(msg []byte) {
	reqs, batch, derr := jsonrpc.Decode(msg, c.g.o.MaxBatch)
	if derr != nil {
		c.send(jsonrpc.AppendError(nil, null, derr.Code, derr.Message, nil))
		return
	}
	if kind := classify(reqs, batch); kind != kindCall {
		if kind == kindBatchedSub {
			c.send(jsonrpc.AppendError(nil, null, jsonrpc.CodeInvalidRequest, "eth_subscribe and eth_unsubscribe cannot be part of a batch; send them alone", nil))
			return
		}
		c.subscribeCall(&reqs[0])
		return
	}
	c.sem <- struct{}{}
	c.calls.Add(1)
	go func() {
		defer func() { <-c.sem; c.calls.Done() }()
		rec := relay.Get()
		rec.Start, rec.Transport = time.Now(), "ws"
		out := c.g.o.Pipe.Relay(c.ctx, pipeline.Input{Caller: c.caller, Reqs: reqs, Batch: batch, Body: msg}, rec)
		if out.Body != nil {
			c.send(append([]byte(nil), out.Body...))
		}
		out.Release()
		relay.Put(rec)
	}()
}

type msgKind uint8

const (
	kindCall       msgKind = iota // anything the pipeline serves
	kindSub                       // eth_subscribe / eth_unsubscribe alone
	kindBatchedSub                // a batch holding one of them
)

// classify tells a subscription call from calls for the pipeline.
func classify(reqs []jsonrpc.Request, batch bool) msgKind {
	if !batch {
		if reqs[0].Err == nil && isSubMethod(reqs[0].Method) {
			return kindSub
		}
		return kindCall
	}
	for i := range reqs {
		if reqs[i].Err == nil && isSubMethod(reqs[i].Method) {
			return kindBatchedSub
		}
	}
	return kindCall
}

func isSubMethod(m string) bool { return m == "eth_subscribe" || m == "eth_unsubscribe" }

var null = []byte("null")
