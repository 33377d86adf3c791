"""(being written — issue 4)"""

urlpatterns = []
