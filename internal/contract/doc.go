// Package contract is the order workflow's contract: the names of its
// messages, the inputs and results of its workflows and activities, the
// payment value types the providers exchange with it, and the status and
// error-kind names every layer speaks.
//
// It depends on the standard library only, so workflows, activities, the
// API and the provider clients can share it without pulling in a database
// driver or a provider SDK. Changing a JSON tag here changes recorded
// workflow histories: keep them stable.
package contract
