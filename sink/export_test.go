package sink

// AfterListing makes Read call fn once it has listed where each partition starts and
// ends, before it fetches anything: tests commit or delete records there to act at a
// known point of the read.
func AfterListing(fn func()) ReaderOpt {
	return readerOptFunc(func(c *readerCfg) { c.afterList = fn })
}
