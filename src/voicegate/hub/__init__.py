"""What the gateway offers under a model name: the table shared by the hub's generic routes and the OpenAI
surface."""
