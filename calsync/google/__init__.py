"""Google Calendar: OAuth credentials, the API client with retries and batches, event ids."""
