"""Projects and their clips: free CRUD on the shared account, except clip creation, which synthesizes and is billed
like TTS."""
