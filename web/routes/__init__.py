"""One router per area of the site; ``web.app`` includes them all."""
