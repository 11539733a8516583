"""What trimtab remembers: the inventory of managed resources and write-ahead create records."""
