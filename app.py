"""The kb page: `kb serve`, or `streamlit run app.py`. The page itself lives in kb.page."""

from kb.page import main

main()
