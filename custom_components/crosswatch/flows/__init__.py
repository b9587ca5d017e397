"""Config flow steps, one module per service; `config_flow.py` composes them."""
