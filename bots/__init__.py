"""Channel adapters: each turns one platform's traffic into `handoff.messages` values and back."""
