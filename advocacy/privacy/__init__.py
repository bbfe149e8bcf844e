"""What we keep about people, for how long, and their right to see and erase it."""
