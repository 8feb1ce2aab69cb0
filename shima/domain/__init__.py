"""The rules, one module per area: plain async functions over the models, called by LINE
flows and the admin alike. Imports models and the kernel only."""
