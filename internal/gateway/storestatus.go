package gateway

import (
	"github.com/rpcgate/rpcgate/internal/status"
	chainstore "github.com/rpcgate/rpcgate/internal/store"
)

// withStores adds each chain's store to the status page as a member of
// its fleet, named "store": up (ok) or unreachable (ejected), at its
// highest stored block. It is not counted among the nodes.
func withStores(src func() []status.ChainView, stores *chainstore.Set) func() []status.ChainView {
	return func() []status.ChainView {
		views := src()
		for i := range views {
			sc := stores.For(views[i].Name)
			if sc == nil {
				continue
			}
			hi, up := sc.Seen()
			nv := status.NodeView{Name: "store", State: status.StateOK, Head: hi}
			if !up {
				nv.State = status.StateEjected
			}
			if views[i].BestHead > hi {
				nv.Lag = views[i].BestHead - hi
			}
			views[i].Nodes = append(views[i].Nodes, nv)
		}
		return views
	}
}
