"""Who owns what in the shared Resemble account: every upstream object a user creates is recorded here, and every
route that takes an upstream id resolves it through `dependencies.Owned` first."""
