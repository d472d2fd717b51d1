// Package audit answers "who can reach what" from the cluster's
// declarations: whether an OAuthClient may hold a token that a GatewayRoute
// accepts (its allowed scopes satisfy the route's required ones, with the
// gateway's implication rules, and it may obtain an audience the route
// accepts), and which of a client's scopes no route uses. Both controllers
// use these pure functions, so OAuthClient.status.reachableRoutes and
// GatewayRoute.status.authorizedClients always agree.
package audit
