"""Voice agents, their tools and webhooks, and the team's knowledge base: free CRUD on the shared account."""
