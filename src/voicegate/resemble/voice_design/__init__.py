"""Voice design: generate candidate voices from a description, then promote one to a voice of one's own."""
