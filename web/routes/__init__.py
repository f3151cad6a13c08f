"""One router per area of the site; ``synapse_ai.web.app`` includes them all."""
