// Package sbkit is the machinery the provider sandboxes (package sandbox
// for WeChat Pay v3, alipaysb, wechatv2sb, baidusb) share: background work
// that stops on Close (Background), notify delivery on a retry schedule with
// per-notify attempt bookkeeping (Notifier, Delivery, Post), credential files
// written once and atomically (PublishOnce, WriteFileAtomic), random values
// and RSA key pairs, and small HTTP helpers (WriteJSON, LogRequests,
// Defaults).
//
// Protocol differences stay with each sandbox and are passed in: the retry
// schedule (ScaleSchedule of the provider's own), how an answer acknowledges
// a notify (Post.Ack, Post.Require200), what a notify carries and how it is
// signed.
package sbkit
