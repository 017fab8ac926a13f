"""The ACE-Step 1.5 base model: validation, loading, and the tiny offline model tests and the demo use."""
