package wsgate

import (
	"encoding/json"
	"strconv"

	"github.com/rpcgate/rpcgate/internal/chainfeed"
	"github.com/rpcgate/rpcgate/internal/filters"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// Kinds of subscription.
const (
	subNewHeads = "newHeads"
	subLogs     = "logs"
	subPending  = "newPendingTransactions"
)

// subscription is one eth_subscribe: a listener on the chain feed that
// queues geth-format notifications on its connection.
type subscription struct {
	id     string
	kind   string
	crit   chainfeed.Criteria
	c      *conn
	cancel func()
}

var _ chainfeed.Listener = (*subscription)(nil)

func (s *subscription) Blocks(ev *chainfeed.Event) {
	sent := 0
	switch s.kind {
	case subNewHeads:
		for _, b := range ev.Added {
			sent += s.notify(b.Header)
		}
	case subLogs:
		for _, b := range ev.Removed {
			for _, l := range b.Logs {
				if s.crit.Match(l) {
					sent += s.notify(l.Removed)
				}
			}
		}
		for _, b := range ev.Added {
			for _, l := range b.Logs {
				if s.crit.Match(l) {
					sent += s.notify(l.Raw)
				}
			}
		}
	}
	s.c.g.o.Pipe.ChargeNotifications(s.c.ctx, s.c.caller, sent)
}

func (s *subscription) Pending(tx json.RawMessage) {
	if s.kind == subPending {
		s.c.g.o.Pipe.ChargeNotifications(s.c.ctx, s.c.caller, s.notify(tx))
	}
}

// notify queues {"jsonrpc":"2.0","method":"eth_subscription",
// "params":{"subscription":id,"result":result}}, geth's format.
func (s *subscription) notify(result []byte) int {
	b := make([]byte, 0, len(notifyHead)+len(s.id)+len(notifyMid)+len(result)+2)
	b = append(b, notifyHead...)
	b = append(b, s.id...)
	b = append(b, notifyMid...)
	b = append(b, result...)
	b = append(b, "}}"...)
	if !s.c.send(b) {
		return 0
	}
	s.c.g.o.Metrics.notes.WithLabelValues(s.c.caller.Chain.Name, s.kind).Inc()
	return 1
}

const (
	notifyHead = `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"`
	notifyMid  = `","result":`
)

// subscribeCall answers eth_subscribe or eth_unsubscribe.
func (c *conn) subscribeCall(req *jsonrpc.Request) {
	res, id, err := c.subscribe(req)
	switch {
	case req.IsNotification():
	case err != nil:
		c.send(jsonrpc.AppendError(nil, req.ID, err.Code, err.Message, nil))
	default:
		c.send(jsonrpc.AppendResult(nil, req.ID, res))
	}
	if id != "" {
		// The answer is queued before the listener starts, so the id
		// precedes the first notification.
		c.start(id)
	}
}

func (c *conn) subscribe(req *jsonrpc.Request) ([]byte, string, *jsonrpc.Error) {
	var params []json.RawMessage
	if len(req.Params) > 0 && string(req.Params) != "null" {
		if err := json.Unmarshal(req.Params, &params); err != nil {
			return nil, "", &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "params must be an array"}
		}
	}
	if req.Method == "eth_unsubscribe" {
		var id string
		if len(params) != 1 || json.Unmarshal(params[0], &id) != nil {
			return nil, "", &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "eth_unsubscribe takes one subscription id"}
		}
		return strconv.AppendBool(nil, c.unsubscribe(id)), "", nil
	}
	kind, crit, perr := parseSubscribe(params)
	if perr != nil {
		return nil, "", perr
	}
	s := &subscription{kind: kind, crit: crit, c: c}
	if c.g.o.Hub.Feed(c.caller.Chain.Name) == nil {
		return nil, "", &jsonrpc.Error{Code: jsonrpc.CodeInternal, Message: "chain feed not running"}
	}
	c.smu.Lock()
	defer c.smu.Unlock()
	if len(c.subs) >= c.set.MaxSubscriptions {
		return nil, "", &jsonrpc.Error{Code: jsonrpc.CodeLimited, Message: "too many subscriptions on this connection (websocket.max_subscriptions " + strconv.Itoa(c.set.MaxSubscriptions) + ")"}
	}
	if !c.g.addSub(c.owner, c.set.MaxSubscriptionsPerKey) {
		return nil, "", &jsonrpc.Error{Code: jsonrpc.CodeLimited, Message: "too many subscriptions for this caller (websocket.max_subscriptions_per_key " + strconv.Itoa(c.set.MaxSubscriptionsPerKey) + ")"}
	}
	s.id = filters.NewID()
	c.subs[s.id] = s
	c.g.o.Metrics.subs.WithLabelValues(c.caller.Chain.Name, kind).Inc()
	return strconv.AppendQuote(nil, s.id), s.id, nil
}

// parseSubscribe reads eth_subscribe's params: a kind, and for logs a
// filter object.
func parseSubscribe(params []json.RawMessage) (string, chainfeed.Criteria, *jsonrpc.Error) {
	var kind string
	if len(params) == 0 || json.Unmarshal(params[0], &kind) != nil {
		return "", chainfeed.Criteria{}, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "eth_subscribe takes a subscription name first: newHeads, logs or newPendingTransactions"}
	}
	switch kind {
	case subNewHeads, subPending:
		return kind, chainfeed.Criteria{}, nil
	case subLogs:
		var raw []byte
		if len(params) > 1 {
			raw = params[1]
		}
		crit, err := chainfeed.ParseCriteria(raw)
		if err != nil {
			return "", crit, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
		}
		return kind, crit, nil
	}
	return "", chainfeed.Criteria{}, &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: "no " + strconv.Quote(kind) + " subscription in eth namespace"}
}

// start begins delivery of a subscription whose id was sent.
func (c *conn) start(id string) {
	c.smu.Lock()
	s := c.subs[id]
	c.smu.Unlock()
	if s == nil || s.cancel != nil {
		return
	}
	feed := c.g.o.Hub.Feed(c.caller.Chain.Name)
	if feed == nil {
		return
	}
	cancel := feed.Listen(s)
	c.smu.Lock()
	s.cancel = cancel
	c.smu.Unlock()
}

func (c *conn) unsubscribe(id string) bool {
	c.smu.Lock()
	s := c.subs[id]
	delete(c.subs, id)
	c.smu.Unlock()
	if s == nil {
		return false
	}
	c.stop(s)
	return true
}

func (c *conn) stop(s *subscription) {
	c.smu.Lock()
	cancel := s.cancel
	s.cancel = func() {}
	c.smu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.g.dropSub(c.owner)
	c.g.o.Metrics.subs.WithLabelValues(c.caller.Chain.Name, s.kind).Dec()
}

func (c *conn) unsubscribeAll() {
	c.smu.Lock()
	subs := c.subs
	c.subs = map[string]*subscription{}
	c.smu.Unlock()
	for _, s := range subs {
		c.stop(s)
	}
}
